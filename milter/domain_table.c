/* stub */ typedef int forcetls_stub_domain_table;

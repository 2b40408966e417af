/* stub */ typedef int forcetls_stub_netstring;

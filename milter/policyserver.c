/* stub */ typedef int forcetls_stub_policyserver;

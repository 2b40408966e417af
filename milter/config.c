/* stub */ typedef int forcetls_stub_config;

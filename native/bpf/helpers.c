/* placeholder: the eBPF engine (helpers) lands here */

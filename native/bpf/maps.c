/* placeholder: the eBPF engine (maps) lands here */

/* placeholder: the eBPF engine (interp) lands here */

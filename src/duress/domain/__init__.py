"""The pure core: facility, people, devices, events. No I/O, no clocks, no adapters."""

"""What a distribution network can have: bounds that turn a slip of the keyboard into an error.

A scenario's magnitudes are checked against these, so 1e300 MW of PV or a peak price of 1e300
RMB/MWh is refused at validation instead of breaking a solver or silently shedding every load.
They are generous: a large distribution network has tens to hundreds of MW, the largest storage
plants a few GWh, and the highest value of lost load in use is a few tens of thousands RMB/MWh;
the paper's own example (docs/rules.md §A.11.1) has one DN buying 10 000 MWh in an hour from a
load of about 30 GW, which the bundled `paper-hour2` replays at that scale.
"""

MAX_MW = 100_000.0  # installed capacity, load or an exchange limit of one DNO, MW
MAX_MWH = 100_000.0  # energy capacity of one storage unit, MWh
MAX_PRICE_PER_MWH = 100_000.0  # any price, fee or compensation, RMB/MWh

# builder/builder.mk - source list of builder/ (empty until its issue lands).

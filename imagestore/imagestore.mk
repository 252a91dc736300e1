# imagestore/imagestore.mk - source list of imagestore/ (empty until its issue lands).

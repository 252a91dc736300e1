# deploy/deploy.mk - source list of deploy/ (empty until its issue lands).

DROP TABLE refused_scans;
DROP TABLE attendances;
DROP TABLE signups;
DROP TABLE activities;

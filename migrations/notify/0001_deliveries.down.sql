DROP TABLE IF EXISTS notify.deliveries;

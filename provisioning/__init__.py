"""What a technician uses to set up, enrol and check a kiosk. Imports only `shared`."""

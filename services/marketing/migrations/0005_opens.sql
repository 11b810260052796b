-- Open tracking: the first load of a message's pixel (one open per send and person; later loads change nothing).
ALTER TABLE email_recipients ADD COLUMN open_time timestamptz;

-- Version 5: an idempotency key binds its request. The SHA-256 of the
-- request's canonical form is kept with the event, so a repeat of the key
-- with another body is refused rather than answered with the first
-- response. Events stored before this have none and match any repeat.

ALTER TABLE events ADD COLUMN request_hash TEXT;

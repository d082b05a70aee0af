"""PBX adapters: one module per vendor, each turning that vendor's requests into
``call.ended`` / ``voicemail.received`` events for the one intake path
(docs/pbx.md)."""

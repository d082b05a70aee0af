"""Pure-Python domain logic: phone numbers, working hours, rule criteria, events, decisions."""

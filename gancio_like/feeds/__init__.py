"""Event feeds anyone can subscribe to (SPEC §6 "Event feeds"): iCalendar for calendar
apps (`ics.py`, RFC 5545) and RSS 2.0 for feed readers (`rss.py`). Which events go in
them is the events service's business; these modules only write them down."""

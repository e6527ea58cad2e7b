"""Limits on what one employee and one department may use: runs at a time, requests
per minute, tokens and dollars per day and month (docs/capacity.md)."""

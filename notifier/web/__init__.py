"""The browser side: screens (views/), admin auth, security headers, error
pages, htmx and paging helpers."""

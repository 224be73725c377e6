"""Sieve integration: scripts that hand mail to the agent (or reply natively), and installers.

``script`` builds the text (all account data escaped), ``local`` writes a Dovecot-style sieve
directory, ``managesieve`` talks RFC 5804 through sievelib, ``install`` holds the logic both
share (keep the user's active script working, undo exactly), ``cli`` the `sieve` commands.
"""

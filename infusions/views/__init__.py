"""Views of the infusion day (function views, short: access, form, one service, redirect)."""

"""The admin API and moderation: accounts, reports, rules, prompt terms and renders under review."""

"""Enterprise services: the signed enterprise code (企业码) and the special credit report (专用信用报告).

Both read a firm's data through the profile store's APIs, check who is asking (a firm for itself,
staff who may see any firm for any), record the data use, and sign what they issue with the
platform's Ed25519 key (`signing`), so that anyone holding the published verifier key can check
a code or a report offline. Verification is public: it needs no account and no database.
See docs/enterprise-services.md.
"""

"""The loops after issuance: 审管联动, 12345 work orders, renewal reminders, 好差评, the applicant portal."""

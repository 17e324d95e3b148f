"""SMS and WhatsApp through Twilio: the signed webhook, idempotent deliveries, senders kept pseudonymous."""

"""The Telegram bot: Bot API client, commands, linking employees' chats, long
polling. Sending a notification is ``notifier.channels.telegram``."""

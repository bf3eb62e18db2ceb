"""earlyphase.vocab"""

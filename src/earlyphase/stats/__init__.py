"""earlyphase.stats"""

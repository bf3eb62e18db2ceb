"""earlyphase.protocol"""

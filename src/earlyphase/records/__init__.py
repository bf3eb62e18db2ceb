"""earlyphase.records"""

"""earlyphase.design"""

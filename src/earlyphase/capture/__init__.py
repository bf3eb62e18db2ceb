"""earlyphase.capture"""

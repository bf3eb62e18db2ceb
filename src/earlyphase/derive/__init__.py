"""earlyphase.derive"""

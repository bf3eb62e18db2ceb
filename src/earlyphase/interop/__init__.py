"""earlyphase.interop"""

"""earlyphase.twin"""

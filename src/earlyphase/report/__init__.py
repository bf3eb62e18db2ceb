"""earlyphase.report"""

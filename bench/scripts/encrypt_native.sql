SELECT vibecraft.encrypt_api_key('sk-proj-0123456789abcdefghijklmnopqrstuvwxyz', 'bench-user-openai');

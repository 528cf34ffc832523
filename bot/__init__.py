"""件件有着落 — intake assistant for 群众事务代理 service networks."""

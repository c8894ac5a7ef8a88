DROP TABLE orders;
DROP TABLE recovery_sends;
DROP TABLE carts;
DROP TABLE api_keys;
DROP TABLE tenants;

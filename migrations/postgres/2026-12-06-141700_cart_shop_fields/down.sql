DROP TABLE cart_shop_fields;

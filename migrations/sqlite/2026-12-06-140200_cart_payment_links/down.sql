DROP TABLE cart_payment_links;

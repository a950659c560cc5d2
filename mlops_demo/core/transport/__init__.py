"""RabbitMQ: the pika client and the publisher."""

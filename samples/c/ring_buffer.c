/* A fixed-size byte ring buffer (self-written sample, MIT licence). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  unsigned char *data;
  size_t capacity;
  size_t head;
  size_t size;
} ring_buffer;

int ring_init(ring_buffer *rb, size_t capacity) {
  rb->data = malloc(capacity);
  if (rb->data == NULL) return -1;
  rb->capacity = capacity;
  rb->head = 0;
  rb->size = 0;
  return 0;
}

size_t ring_write(ring_buffer *rb, const unsigned char *src, size_t len) {
  size_t written = 0;
  while (written < len && rb->size < rb->capacity) {
    size_t tail = (rb->head + rb->size) % rb->capacity;
    rb->data[tail] = src[written++];
    rb->size++;
  }
  return written;
}

size_t ring_read(ring_buffer *rb, unsigned char *dst, size_t len) {
  size_t read = 0;
  while (read < len && rb->size > 0) {
    dst[read++] = rb->data[rb->head];
    rb->head = (rb->head + 1) % rb->capacity;
    rb->size--;
  }
  return read;
}

void ring_free(ring_buffer *rb) {
  free(rb->data);
  memset(rb, 0, sizeof *rb);
}

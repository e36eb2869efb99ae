// A bounded stack (self-written sample, MIT licence).
import java.util.ArrayList;
import java.util.List;

public class BoundedStack<T> {
    private final List<T> items = new ArrayList<>();
    private final int capacity;

    public BoundedStack(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.capacity = capacity;
    }

    public boolean push(T item) {
        if (items.size() >= capacity) {
            return false;
        }
        items.add(item);
        return true;
    }

    public T pop() {
        if (items.isEmpty()) {
            throw new IllegalStateException("empty stack");
        }
        return items.remove(items.size() - 1);
    }

    public T peek() {
        return items.isEmpty() ? null : items.get(items.size() - 1);
    }

    public int size() {
        return items.size();
    }
}

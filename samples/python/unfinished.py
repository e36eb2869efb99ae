"""Functions waiting for their bodies: the demo asks maskfill to fill them (MIT licence)."""


def mean(values):
    

def clamp(value, low, high):
    if value < low:
        return low
    
    return value


def count_words(text):
    counts = {}
    for word in text.split():
        
    return counts

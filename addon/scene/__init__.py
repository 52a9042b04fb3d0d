"""Building the film's scene: the points object, its point cache, attributes, colours and sizes over time, trails,
the 3-D radius, a film's timing.
"""

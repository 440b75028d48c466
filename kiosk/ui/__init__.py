"""The touchscreen: Kivy screens over the check-in flow.

Only `app`, `look`, `robot`, `screens/` and `widgets/` import Kivy; `palette`, `entry` and
`session` are plain Python, tested without a window.
"""

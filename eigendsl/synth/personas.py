"""The persona bank and user styles the offline writers draw scenario text from."""

PERSONAS = (
    "A retired teacher who plans carefully and apologises for changing her mind.",
    "A busy nurse between shifts, polite but direct.",
    "A graduate student, tired and brief.",
    "A father of three, practical and quick.",
    "A consultant who speaks in short sentences.",
    "A semi-retired architect, friendly and exact about details.",
    "A software tester who likes to hear every number before agreeing.",
    "A young product manager, annoyed but reasonable.",
    "A small-business owner who watches every cent.",
    "An anxious first-time customer who asks for reassurance.",
    "A cheerful chef who chats a little before getting to the point.",
    "A lawyer who reads everything back to check it.",
    "A delivery driver short on patience.",
    "A pharmacist, methodical, who reports exactly what she sees.",
    "A university lecturer who explains more than needed.",
    "A night-shift security guard, calm and slow to answer.",
)
STYLES = ("brief", "chatty", "precise", "impatient")


def with_article(word: str) -> str:
    """'a brief', 'an impatient'."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word

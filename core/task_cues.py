"""Tasks a request must hint at before the planner may use them.

A 1.5B controller adds steps nobody asked for. Three habits stand out in TaskBench plans: a
text-to-speech step at the end (imitating the "say it out loud" demos; 70 of 323 eval plans),
an object-detection step on any picture, and, once speech is out of reach, a text-to-image step in
its place. On TaskBench's 475 labelled requests every request whose label has text-to-speech
names speech, a voice, sound or audio; every one with text-to-image speaks of an image, a picture,
a drawing or making something; all but one with object-detection speak of objects, things,
finding, counting or where. So a task whose cue is absent from the request (file names do not
count) and its context is left out of the grammar for that request. The cues are wide on
purpose: a missed cue forbids a task the user wanted, an extra one only keeps the old behaviour.
"""

from __future__ import annotations

import re

TASK_CUES: dict[str, re.Pattern[str]] = {
    "text-to-speech": re.compile(
        r"\b(aloud|loud|speak\w*|spoken|say|saying|says|voice\w*|audible|listen\w*|hear\w*|narrat\w*"
        r"|pronounc\w*|podcast|audiobook|vocal\w*|verbal\w*|recit\w*|tts|speech\w*|audio\w*|sound\w*"
        r"|mp3|wav|read\w*(\s+\w+){0,4}\s+(out|to\s+me|to\s+us))\b", re.IGNORECASE),
    "object-detection": re.compile(
        r"\b(detect\w*|object\w*|locat\w*|find\w*|found|identif\w*|count\w*|how\s+many|box\w*|spot\w*"
        r"|recogni\w*|items?|elements?|things?|where|people|persons?|faces?|who|anyone|anybody"
        r"|animals?|cars?|vehicles?|present|contain\w*|in\s+(it|this|the)\s+(photo|picture|image))\b",
        re.IGNORECASE),
    "text-to-image": re.compile(
        r"\b(image\w*|imagin\w*|pictur\w*|photo\w*|visual\w*|illustrat\w*|draw\w*|drew|paint\w*|sketch\w*"
        r"|art\w*|render\w*|depict\w*|portrait\w*|poster\w*|logo\w*|graphic\w*|design\w*|scene\w*"
        r"|generat\w*|creat\w*|make|show\w*|see|view\w*|look\w*)\b",
        re.IGNORECASE),
}


def uncued_tasks(*texts: str) -> set[str]:
    """The gated tasks none of `texts` (request, context) hints at."""
    joined = "\n".join(texts)
    return {task for task, cue in TASK_CUES.items() if not cue.search(joined)}

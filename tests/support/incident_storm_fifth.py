"""A fifth, held-out set of wordings for ``tests/support/incident_storm.py`` (``half=4``).

Written by someone who had not read the grouping code, and meant to be measured once.
"""

from __future__ import annotations

LOGIN_FIFTH = [
    "app won't let me in??",
    "Getting error 401 every time I try to sign into the website on Firefox",
    "hello?? can't get onto my account and I've got a delivery due today",
    "is the site having issues? my password works everywhere else but it says incorrect",
    "the app just kicks me back to the welcome screen after I enter my details",
    "can't access anything, stuck at the sign-in step on my iPhone",
    "completely locked out lol",
    "Face ID login on the iOS app not working since this morning, password option fails too",
    "why does your website say 'session expired' the second I log on",
    "cant get in to my acct on the app or the site wtf",
    "every time I try to log on it says service unavailable, try later",
    "tried the app on my Pixel, the website on my laptop and my work PC, none of them will let me log in",
    "Are you aware people can't sign on right now? Error AUTH-500",
    "entered my email and password and nothing happens, just a grey screen on Edge",
    "reset my password twice and still can't get in. is something down",
    "my husband and I both can't access our accounts, anything known?",
]
PAYMENT_FIFTH = [
    "my card keeps getting refused, worked fine in the supermarket 5 mins ago",
    "order won't go through, it just says transaction unsuccessful",
    "tried visa, mastercard and paypal, none of them work on your site",
    "Stuck at the 'confirm and pay' step on the app, spinner forever",
    "got the bank verification popup then it errored and my money's gone",
    "why won't you take my money lol",
    "trying to order my son's birthday present since lunch and every time the card bit fails, absolutely useless",
    "Apple Pay fails instantly on your app, anyone else?",
    "transaction declined error PAY-117, my bank sees nothing wrong",
    "bank shows a pending charge but your site says the order didn't go through",
    "is checkout dead again?",
    "Checkout keeps telling me to use a different card. I've used three!!",
]
BACKGROUND_FIFTH = [
    "the {item} I bought in {month} has already fallen apart",
    "parcel tracking says it's in {city} but I live nowhere near there",
    "refund for the {item} was approved {n} days ago, where is it",
    "the lady at the till in {city} laughed at me when I asked about a return",
    "Why does every delivery come between 9pm and midnight??",
    "your {item} instructions are in every language except English",
    "my bank statement has a direct debit for an insurance plan I never wanted",
    "bought a {item}, opened it, it's clearly been used before",
    "{item} arrived without a plug",
    "courier threw the box over my fence, now it's dented",
    "no staff on the tills at the {city} store, queued {n} minutes",
    "ordered a sofa cover in {month}, told it was in stock, then {n} weeks, now it's discontinued?? make it make sense",
    "grr the click and collect desk lost my parcel",
    "signed into the app to book a return and the {city} store won't accept it",
    "paid extra for gift wrapping on the {item} and it came in a plain bag",
    "logged on to see my points balance and {n} points have vanished",
]

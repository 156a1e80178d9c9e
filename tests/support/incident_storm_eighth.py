"""An eighth set of wordings for the synthetic incident day (half=7), written by someone who had not read the grouping code nor the earlier sets, before its one measurement."""  # noqa: E501

from __future__ import annotations

LOGIN_EIGHTH: list[str] = [
    "cant log in. anyone else?? tried 4 times",
    "Is your website down? My account page just won't load at all, been trying since 8am from two different laptops.",
    "app keeps kicking me back to the sign-in screen the second I enter my email. iPhone 13, latest version, "
    "already reinstalled twice.",
    "ERROR 503 WHEN I TRY TO SIGN IN. SORT IT OUT.",
    "wanted to use my 20% birthday voucher but I can't get past the login page, it just spins forever. "
    "Will the voucher still be valid tomorrow if this isn't fixed?",
    "password reset email never arrives, and my old password says 'invalid credentials' even though "
    "I've used it for years",
    "locked out.",
    "Tried checking my loyalty points on Chrome and Safari, both say 'session expired' instantly. "
    "Cleared cookies, no change.",
    "fingerprint unlock on the android app fails then wants a verification text which never turns up",
    "hmm is it just me or is nobody able to get into their profile right now",
    "Great timing. Wanted to reorder nappies and your app decides I don't exist. 'User not found'. Brilliant.",
    "Getting AUTH-401 on the Acme app every single time. Pixel 7.",
    "my acount has vanished?? white page after typing my details in",
    "Can't access My Account on desktop or the app. Is there an outage? Need my purchase history for a warranty claim.",
    "been logged out and the login button literally does nothing when i tap it",
    "Sign in broken again lads",
    "Two-step code not coming through so I'm stuck on the 'enter code' screen. Pressed resend 6 times now.",
    "The page says 'Something unexpected happened, please try later' whenever I open my details. Going on an hour.",
    "wont let me in. says my email isnt registered. I've been a member since 2015!!!",
    "Honestly what's going on with sign-on today? Wife and I both getting timed out on Firefox and the iPad.",
]

PAYMENT_EIGHTH: list[str] = [
    "checkout broken?",
    "Pressing 'Place order' does absolutely nothing. Tried three cards.",
    "PAYMENT DECLINED ON EVERY CARD. MY BANK SAYS THERE'S NOTHING WRONG ON THEIR END.",
    "just been charged twice for the same basket and got no confirmation, what is going on",
    "Google Pay window flashes up and disappears instantly, same with PayPal. Samsung S22.",
    "stuck on the loading circle at the final step for 10 mins now",
    "Trying to use the SPRING15 discount and it errors out with code PMT-502 before taking payment. "
    "Is the site having problems?",
    "anyone else unable to buy anything? basket just empties itself after I enter my details",
    "Love that you sent me a sale email and then won't actually take my money. Transaction failed x5.",
    "Card verification page hangs forever on the app, then dumps me back in the bag.",
    "is ur payment system down",
    "£84.99 left my bank but the site says the transaction couldn't be completed and nothing shows in my orders. "
    "Do I try again or will I be charged again?",
    "gift card won't apply and then the whole purchase fails with 'unable to process'",
    "3D Secure screen never loads so i cant complete my purchase, edge browser",
    "klarna option greyed out and debit card gives 'something went wrong'. "
    "want to give you money and you won't let me lol",
    "Tried to buy the school shoes 6 times this morning. Every attempt: error at the last stage. Ridiculous.",
]

BACKGROUND_EIGHTH: list[str] = [
    "My {item} was meant to arrive {n} days ago and the tracking hasn't moved since it left the depot.",
    "The refund for my {item} went back to my card weeks ago apparently, but still nothing on my statement.",
    "Logged in to check my order and it still says 'preparing for dispatch' after {n} days. Any update?",
    "Paid for next-day delivery and it turned up a week later. Can I get the delivery charge back?",
    "The staff at your {city} store were really rude when I asked about a price match.",
    "Click and collect email said ready, got to the {city} branch and they couldn't find my parcel.",
    "Cancelled my delivery subscription in {month} and I'm still being charged for it.",
    "The {item} I bought fell apart after {n} washes. Not good enough for the price.",
    "Where do I update the email address on my account? Changed jobs and want receipts going to my personal one.",
    "Returned the {item} to the {city} store {n} weeks ago, still no refund.",
    "Every time I log in to the app it nags me to turn on notifications for offers. I've said no {n} times.",
    "Ordered a size 10 and got a size 14 {item}. Second time this has happened.",
    "Why was I charged for delivery at checkout when the banner said free over £50?",
    "Courier left my parcel in the recycling bin. Lovely.",
    "Self-checkout in {city} calls for assistance on every single item, queue was out the door.",
    "Loyalty points from my {month} purchases still haven't been added to my account.",
    "Is the {city} shop open on bank holiday Monday?",
    "My {item} arrived damaged, box was crushed. Want a replacement not a refund please.",
    "Reset my password last week and now I get all your marketing emails twice. Can you fix the mailing list?",
    "Paid with my gift card but the remaining balance looks about £{n} short. Can someone check?",
]

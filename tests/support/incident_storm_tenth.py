"""A tenth set of wordings for the synthetic incident day (half=9), written by someone who had not read the grouping
code nor the earlier sets, before its one measurement."""

from __future__ import annotations

LOGIN_TENTH: list[str] = [
    "cant get in",
    "Is it just me? Put my email in, hit continue and it just spins forever",
    (
        "Tried Chrome, Safari, Firefox, incognito, cleared cookies, reset my password twice. Still get "
        "'Something went wrong, please try again later' when I sign in on the website. Android app does the same."
    ),
    "oh brilliant, the app has logged me out and now won't let me back in. love that for me 🙃",
    "WHY DOES IT KEEP SAYING MY PASSWORD IS WRONG I LITERALLY JUST RESET IT",
    "hello i try to enter my account since morning but always say error, i change password but still same. pls help",
    "Clicked 'My account' and got a completely blank white page. Refreshed about ten times, nothing.",
    "verification code never arrives. requested it 6 times now. checked spam. nothing",
    "Typed in the code from the text and it says it's expired straight away. Every single time.",
    "Your site now tells me no account exists with my email. I've been ordering from you since 2016??",
    "Face ID on the app just fails, then the fallback screen won't take my password either",
    "Need to reorder my son's school shoes before Monday and I can't get into my account. Any idea when it's fixed?",
    "Trying to use the £10 voucher you emailed me but I'm stuck on the sign-in screen. Voucher runs out tonight.",
    "error AUTH-503 when I try to sign in, what does that mean",
    "the page just keeps bouncing me back to where I typed my email. round and round and round",
    "Want to track my parcel but the app won't go past the sign in bit. Is there an outage?",
    "password reset link takes me to a page that says 'session invalid'. great. fab. thanks",
    "been locked out of my account all morning and nobody is answering on the chat either",
    "Anyone else getting 'we couldn't verify your identity' on the app? Happening on my phone and my partner's",
    "app just shows the loading circle after I tap log in. iPhone 13, latest update, reinstalled it, no change",
]

PAYMENT_TENTH: list[str] = [
    "payment keeps getting declined but my bank says there's nothing wrong with my card??",
    "Just been charged TWICE for the same order and the website says the order failed. Sort it out please.",
    "Pressing 'Place order' does absolutely nothing. Just sits there.",
    "Apple Pay fails at checkout every time, 'Payment not completed'. Works fine everywhere else",
    "paypal window opens then closes and I'm back at the basket. tried 4 times",
    "The 3D Secure page where my bank is meant to pop up is just blank",
    (
        "£86.40 has left my account and I have no order confirmation, no email, nothing in my orders. "
        "Where has my money gone?"
    ),
    "Stuck on 'processing your payment, please don't refresh' for 20 minutes now. Do I refresh or not??",
    "error PAY-1042 at checkout. what is that",
    "Gift card won't apply, says 'unable to process at this time'. Tried both of my gift cards.",
    "every time i get to the end my basket is empty again. filled it 3 times now 😤",
    "Klarna option greyed out and the card option throws an error. So how exactly am I meant to give you money",
    "Google Pay says transaction failed but my banking app says it went through",
    "hi, i want to buy the sofa but the pay not work, always say try again later. is problem with your website?",
    "Card declined, card declined, card declined. Three different cards. Pretty sure it's not me",
    "Checkout broken? Spinning wheel then 'something went wrong' right after I put my card details in",
]

BACKGROUND_TENTH: list[str] = [
    "I logged in to check my order and it's still not dispatched after {n} days. What's going on?",
    "Refund for the {item} I returned in {month} still not on my card.",
    "Paid for next-day delivery and my {item} turned up a week later. I want the delivery charge back.",
    "Staff at your {city} store were really rude to my mum today. Not acceptable.",
    "The {item} I bought broke after {n} days. Rubbish quality.",
    "Been waiting {n} days for a reply to my email about a missing parcel.",
    "Why is the {item} out of stock again? Been checking for weeks",
    "How do I cancel my subscription? Charged every month since {month} and I never use it",
    "courier left my parcel in the bin. literally in the wheelie bin",
    "Price of the {item} went up £{n} overnight, the day after I bought it. Will you price match?",
    "Took a {item} back to the {city} store and they said they can't do returns for things bought online?",
    "Ordered a blue {item}, got a pink one. Second time this has happened.",
    "Parcel marked as delivered. It was not delivered.",
    "Your driver reversed into my garden wall in {city} and just drove off",
    "Is the {city} store open on bank holiday Monday? Your website says one thing and Google says another",
    "The app sent me {n} push notifications about a sale in one hour. Please stop.",
    "Refund finally came through but it's £{n} short. I sent everything back.",
    "Reset my password last week and since then I get marketing emails every day. How do I unsubscribe?",
    "Loyalty points from my {month} order never showed up on my account.",
    "Assembly instructions for the {item} are missing half the steps. Spent {n} minutes on one drawer.",
    "Click and collect order ready since Tuesday but the {city} store says they can't find it",
    "The {item} smelled of smoke straight out of the box. Sending it back.",
    "Delivery slot 7-9am, nobody came, no text, no email. Took the morning off for this.",
    "Love how the app remembers my login but not the address I've used {n} times 🙄",
]
